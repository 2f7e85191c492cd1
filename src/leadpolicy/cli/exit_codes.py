"""The exit codes of every command."""

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3  # all is well, problems found, bad usage, internal error
