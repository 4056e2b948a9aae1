"""One module per CLI subcommand; each holds only argument handling and printing."""
