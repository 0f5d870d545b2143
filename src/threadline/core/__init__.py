"""Domain rules shared by every surface: ids, time, errors, filters. No HTTP, no SQL."""
