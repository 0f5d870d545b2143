"""Literal AI's wire protocol (GraphQL at ``/api/graphql`` plus a few REST calls) over core."""
