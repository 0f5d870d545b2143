"""Domain rules shared by every surface: ids, time, errors and the filter engine. No HTTP, no SQL I/O."""
