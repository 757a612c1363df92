"""``strata-train`` and ``strata-eval``.

strata-train with no arguments runs the embedded default: the packaged SmolLM2-135M-Instruct with
LoRA on three synthetic domains (arithmetic word problems, two sums of different difficulty,
each shown one worked example) mixed by the UCB scheduler, SAN, the light templates and HF
generation, evaluated on 200 held-out items a domain before and after. It is sized for 15
minutes on a 2-core CPU (what it measured, every seed: docs/results.md) and writes a run folder
(below).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from strata_grpo.trackers import TrackerError, check_available
from strata_rewards.data import FILES, DataError
from strata_rewards.evaluation import (
    DomainResult,
    compare,
    comparison_markdown,
    from_json,
    results_markdown,
    subjects_comparison_markdown,
    to_json,
)
from strata_rewards.synthetic import GENERATORS
from strata_trainer.config import (
    ConfigError,
    RunConfig,
    build_config,
    describe,
    make_folder,
    resume_config,
    saved_config,
    to_toml,
)
from strata_trainer.console import say, speak_as
from strata_trainer.engines import check_backend, check_model, eval_engine, load_base_model
from strata_trainer.items import load_items, load_probe_items, say_counts, with_questions
from strata_trainer.job import (
    RUN_FOLDER,
    evaluate_held_out,
    probe_domains,
    run_training,
    save_probe,
)

# bitsandbytes (imported by peft when present) warns on every start that an optional CPU kernel
# package is missing; it changes nothing for us.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)


def train_main(argv: Sequence[str] | None = None) -> int:
    speak_as("strata-train")
    parser = argparse.ArgumentParser(
        prog="strata-train",
        description="Train a model with GRPO on several domains at once (a LoRA adapter, SAN\n"
        "advantages, a UCB curriculum over the domains) and evaluate it before and after on\n"
        "held-out items.",
        epilog=(__doc__.split("\n\n", 1)[1] if __doc__ else "")
        + "\n"
        + RUN_FOLDER
        + "\nConfiguration sections and fields: strata-train --help-config",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"a TOML file with {' '.join(f'[{f.name}]' for f in fields(RunConfig))} tables, "
        "each optional (see configs/)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override one field, e.g. --set train.steps=50 (repeatable); a list is "
        "comma-separated (data.domains=sum,double), a table a TOML inline table "
        "('data.eval_sizes={mmlu = 1000}')",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="where the run goes (default: log.run_dir, else runs/<date>-<time>)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue an interrupted run from its latest checkpoint",
    )
    parser.add_argument(
        "--help-config",
        action="store_true",
        help="list every configuration field with its default and meaning",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the configuration and the data, print it, load no model",
    )
    args = parser.parse_args(argv)
    if args.help_config:
        print(describe())
        return 0
    try:
        if args.resume and (args.config or args.run_dir):  # they were ignored without a word
            raise ConfigError(
                "--resume continues a run with its own config.toml in its own folder: drop "
                "--config and --run-dir (--set may change what --resume allows)"
            )
        if args.resume:
            saved = args.resume / "config.toml"
            if not saved.is_file():
                raise ConfigError(
                    f"--resume {args.resume}: no config.toml there (not a run folder)"
                )
            cfg = resume_config(saved, args.set)
            run = args.resume
        else:
            cfg = build_config(args.config, args.set)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            run = args.run_dir or Path(cfg.log.run_dir or f"runs/{stamp}")
            if (run / "latest").exists():
                raise ConfigError(f"{run} holds a run already: use --resume {run}")
        check_available(cfg.log.to)  # a missing tracker package fails before any model loads
        check_backend(cfg)
        check_model(cfg)
        if args.dry_run:
            say_counts(*load_items(cfg))
            print(to_toml(cfg))
            return 0
        make_folder(run, "the run folder")
    except (ConfigError, DataError, TrackerError) as err:
        print(f"strata-train: {err}", file=sys.stderr)
        return 2
    (run / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    (run / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1), encoding="utf-8")
    say(f"run folder: {run}")
    try:
        report = run_training(cfg, run)
    except (ConfigError, DataError) as err:
        print(f"strata-train: {err}", file=sys.stderr)
        return 2
    say(f"done: {report}")
    return 0


def eval_main(argv: Sequence[str] | None = None) -> int:
    speak_as("strata-eval")
    parser = argparse.ArgumentParser(
        prog="strata-eval",
        description="Evaluate a base model, or a run's adapter, on any domains with the training "
        "prompt template: accuracy with 95 % Wilson intervals, parse rate, accuracy on parsed "
        "answers, the best constant answer, structure compliance, MMLU per subject. With "
        "--adapter RUN, the run's own model, domains, prompts and budgets are used unless an "
        "option here says otherwise.",
    )
    parser.add_argument("--model", help="smollm2, a .gguf, a folder or a hub id (default smollm2)")
    parser.add_argument("--adapter", type=Path, help="a run folder or one of its checkpoints")
    parser.add_argument(
        "--domains",
        help=f"comma-separated, any of: {', '.join([*FILES, *GENERATORS])} "
        "(default: the run's, else gsm8k,mmlu,strategyqa)",
    )
    parser.add_argument("--data-dir", help="the benchmarks' files (default ../shared/data)")
    parser.add_argument("--hub", action="store_true", help="load benchmarks by hub id instead")
    parser.add_argument(
        "--limit",
        type=int,
        help="items per domain (0: a benchmark's whole split; synthetic domains need a number; "
        "default: the run's eval_size, else 0)",
    )
    parser.add_argument("--max-new-tokens", type=int, help="default: the run's, else 256")
    parser.add_argument("--seed", type=int, help="seeds the --limit sample (default 0)")
    parser.add_argument("--out", type=Path, help="write results.json and results.md here")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BEFORE.json",
        help="an earlier results.json: print the change and flag drops",
    )
    parser.add_argument("--skip-malformed", action="store_true")
    parser.add_argument(
        "--backend",
        choices=("hf", "vllm"),
        help="generate with strata-rollout's HFEngine or vLLM (default: the run's, else hf)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field after the options above, e.g. --set train.group_size=4 "
        "(repeatable)",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="the learnability probe instead of an evaluation: on --limit dev items a domain "
        "(default 64; never the train or eval items), greedy accuracy, then train.group_size "
        "samples an item at the training temperature: sampled accuracy, pass@k, maj@k against "
        "the best constant answer, the share of groups with mixed outcomes (the only ones GRPO "
        "learns from), parse and truncation rates, each with a 95 %% interval, and a verdict "
        "per domain (learnable / prior only / no signal). The first thing to run on a new model "
        "or domain (docs/trainer.md)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the options, the model source, the adapter and the items, say what would "
        "be evaluated, load no model",
    )
    args = parser.parse_args(argv)
    try:
        before = _read_results(args.compare) if args.compare else None
        if args.probe and args.limit == 0:  # the probe's dev items have no "whole split"
            raise ConfigError(
                "--probe --limit 0: give a number of dev items a domain (default: probe.items, 64)"
            )
        cfg = _eval_config(args)
        if args.probe:
            held = with_questions(load_probe_items(cfg, args.limit or cfg.probe.items), "probe")
            if not held:
                raise DataError(
                    "--probe: no domain has a held-aside question to probe; train on fewer "
                    "rows (data.train_size) or probe a synthetic domain"
                )
        else:
            _, held = load_items(cfg)
        check_backend(cfg)
        check_model(cfg)
        if args.adapter:
            _check_adapter(args.adapter)
        if args.out and not args.dry_run:  # made now, not after the whole evaluation
            make_folder(args.out, "--out")
    except (ConfigError, DataError) as err:
        print(f"strata-eval: {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        what = "probe" if args.probe else "evaluate"
        model = cfg.model.source + (f" + {args.adapter}" if args.adapter else "")
        items = ", ".join(f"{d} {len(its)}" for d, its in held.items())
        say(f"would {what} {model} ({cfg.rollout.backend}) on: {items} items")
        return 0
    from strata_grpo import load_policy

    loaded = load_base_model(cfg)
    model = loaded.model
    if args.adapter:
        try:
            model = load_policy(model, args.adapter)
        except (FileNotFoundError, ValueError) as err:
            print(f"strata-eval: {err}", file=sys.stderr)
            return 2
    try:
        engine = eval_engine(cfg, loaded, model)
    except ConfigError as err:
        print(f"strata-eval: {err}", file=sys.stderr)
        return 2
    if args.probe:
        from strata_rewards.probe import table

        probes = probe_domains(cfg, engine, held)
        print(save_probe(args.out, probes) if args.out else table(probes))
        return 0
    results = evaluate_held_out(engine, held, cfg, "")
    text = results_markdown(
        results, f"{cfg.model.source}" + (f" + {args.adapter}" if args.adapter else "")
    )
    if before is not None:
        text += "\n" + comparison_markdown(compare(before, results))
        text += "\n" + subjects_comparison_markdown(before, results)
    print(text)
    if args.out:
        (args.out / "results.json").write_text(json.dumps(to_json(results), indent=1))
        (args.out / "results.md").write_text(text)
    return 0


def _check_adapter(path: Path) -> None:
    """--adapter names a run folder or a checkpoint: said before the model loads."""
    from strata_grpo import read_trainer_state, resolve_checkpoint

    try:
        read_trainer_state(resolve_checkpoint(path))
    except FileNotFoundError as err:
        raise ConfigError(f"--adapter: {err}; give a run folder or its checkpoint-NNNNNN") from None


def _read_results(path: Path) -> dict[str, DomainResult]:
    """An earlier results.json, checked before any model loads."""
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"--compare {path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--compare {path}: not UTF-8 text (a results.json?)") from None
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"--compare {path}: not JSON ({err.msg} at line {err.lineno}); give the "
            "results.json of an earlier strata-eval --out, or a run's eval_before.json"
        ) from None
    except (TypeError, AttributeError):
        raise ConfigError(
            f"--compare {path}: not a strata-eval results file (one object a domain, each with "
            "n, accuracy and its interval: the results.json of strata-eval --out, or a run's "
            "eval_before.json)"
        ) from None


def _eval_config(args: argparse.Namespace) -> RunConfig:
    """The run's configuration (with --adapter) or the default, then this command's options."""
    if args.limit is not None and args.limit < 0:  # else named as data.eval_size, not typed
        raise ConfigError(f"--limit {args.limit}: must be >= 0 (0: a benchmark's whole split)")
    endless = [d for d in (args.domains or "").split(",") if d in GENERATORS]
    if endless and not args.limit and not args.probe and not args.adapter:
        # Else named as data.eval_size, a field this command's user never set.
        raise ConfigError(
            f"--limit: the synthetic domain(s) {', '.join(endless)} have no whole split to "
            "evaluate; give a number of items, e.g. --limit 200"
        )
    base: Path | None = None
    if args.adapter:
        run = args.adapter if (args.adapter / "config.toml").is_file() else args.adapter.parent
        if (run / "config.toml").is_file():
            base = run / "config.toml"
    overrides = [
        f"{key}={value}"
        for key, value in (
            ("data.domains", args.domains),
            ("data.data_dir", args.data_dir),
            ("data.hub", True if args.hub else None),
            ("data.eval_size", args.limit),
            ("data.seed", args.seed),
            ("data.skip_malformed", True if args.skip_malformed else None),
            ("model.source", args.model),
            ("eval.max_new_tokens", args.max_new_tokens),
            ("rollout.backend", args.backend),
        )
        if value is not None
    ]
    if args.limit is not None:  # --limit is every domain's size, the run's per-domain ones too
        overrides.append("data.eval_sizes={}")
    elif base is not None and args.domains:  # keep the run's sizes of the domains still named
        kept = {
            d: n
            for d, n in build_config(base).data.eval_sizes.items()
            if d in args.domains.split(",")
        }
        overrides.append(f"data.eval_sizes={kept!r}")
    if base is None:  # no run: the command's own defaults
        defaults = {
            "data.domains": "gsm8k,mmlu,strategyqa",
            "eval.max_new_tokens": 256,
        }
        if not args.probe:  # the probe sizes itself (--limit or probe.items), never whole splits
            defaults["data.eval_size"] = 0
        given = {o.split("=", 1)[0] for o in overrides}
        overrides += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    # Only the held-out split is read; train_size is irrelevant here but must be valid.
    overrides.append("data.train_size=1")
    overrides += args.set
    return build_config(None, overrides) if base is None else saved_config(base, overrides)


if __name__ == "__main__":
    raise SystemExit(train_main())
