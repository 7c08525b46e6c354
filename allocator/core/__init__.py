"""Steps 3 and 4: need and targets, then the exact integer program; nothing here reads a file or prints."""
