"""``ordersync`` subcommands, one module per command or command group.

``workers/cli.py`` owns the Typer app, the entry point and error handling; a module here defines
the command's function (with its Typer annotations) and ``cli.py`` registers it with one line, e.g.
``app.command("adopt")(adopt.adopt)``. Shared pieces (consoles, the ``--config`` option, loading
the configuration, usage errors) live in :mod:`workers.commands.common`.
"""
