"""The command line: thin commands that parse arguments, call the package, and print."""
