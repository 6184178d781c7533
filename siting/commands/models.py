"""``siting models [TYPE]``: the registered models, or one model's scenario keys, from the registry itself."""
from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("models", help="list the model types a scenario's [model] type can name, or one "
                                             "type's keys")
    p.add_argument("type", nargs="?", help="a model type: print the [model] keys it accepts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the models table, or the keys of ``args.type``; the exit code."""
    # here, not at the top: the registry imports every model (see siting.cli, start-up)
    from ..models.registry import MODELS, describe_model, get_model

    if args.type is None:
        width = max(len(name) for name in MODELS)
        for name, model in MODELS.items():
            print(f"{name:<{width}}  {model.summary}")
        print("\n`siting models TYPE` lists a type's [model] keys.")
        return 0
    model = get_model(args.type)
    print(f"[model] type = \"{model.name}\": {model.summary}\n")
    rows = describe_model(model)
    width = max(len(key) for key, _, _ in rows)
    for key, default, doc in rows:
        print(f"  {key:<{width}}  {default:<12}  {doc}")
    print(f"\ncovered_weight counts the weight {model.covered}.")
    return 0
