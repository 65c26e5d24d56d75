"""The `tumble` command: one entry point whose subcommands live in the packages they drive."""
