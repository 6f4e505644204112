"""Subcommands registered through the `paypipe.commands` entry point group."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to `paypipe`."""
