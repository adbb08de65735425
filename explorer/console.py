"""The `latent-lab` command: `latent-lab app [streamlit flags]` opens the app, every other
subcommand is the command line's (`latent-lab train ...` is `python -m explorer train ...`)."""

from __future__ import annotations

import os
import subprocess
import sys

from .install import project_path

USAGE = """usage: latent-lab app [streamlit flags ...]   open the app (on the shipped checkpoints unless
                                             $LATENT_LAB_CHECKPOINTS names another folder)
       latent-lab {train,evaluate,map,list} ...  the command line, as `python -m explorer`

Flags after `app` go to `streamlit run`, e.g. `latent-lab app --server.port 8502 --server.headless true`."""


def app_command(flags: list[str]) -> list[str]:
    """The `streamlit run` command line that serves the app with these extra flags."""
    return [sys.executable, "-m", "streamlit", "run", str(project_path("app.py")), *flags]


def run_app(flags: list[str]) -> int:
    command = app_command(flags)
    if os.name == "posix":
        # Become the server: a signal sent to `latent-lab` (Ctrl-C, a test stopping it) reaches streamlit.
        os.execv(command[0], command)
    return subprocess.call(command)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["app"]:
        return run_app(argv[1:])
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    from . import cli  # torch and the rest: not needed to start the app

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
