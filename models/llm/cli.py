"""``sim llm``: the LLM-serving package's command line.

    sim llm step-time --model llama-3-8b --gpu a100-80gb [--tp N] [--prefill-tokens N]
                      [--prefill-seqs N] [--prefix-tokens N] [--decode-seqs N]
                      [--context-tokens N] [--overhead-s S] [--attention-fraction F]
        one iteration's time by part, as one JSON object (seconds): linear_s, attention_s,
        other_s, lm_head_s, comm_s, overhead_s, total_s, and the inputs
    sim llm validate PROFILE.csv --model M --gpu G [--figure PATH]
        the linear-layer time against a Vidur-format profile: error table per TP degree

Registered through the entry-point group ``sim.commands`` (``add_parser``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace


def _nonneg_int(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 10**7:
        raise argparse.ArgumentTypeError(f"must be in 0..10,000,000, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("llm", help="LLM serving tools: iteration time, validation")
    sub = p.add_subparsers(dest="llm_command", required=True)

    st = sub.add_parser("step-time", help="time of one engine iteration by part, as JSON")
    st.add_argument("--model", required=True, help="transformer catalog name, e.g. llama-3-8b")
    st.add_argument("--gpu", required=True, help="GPU catalog name, e.g. a100-80gb")
    st.add_argument("--tp", type=int, default=1, help="tensor-parallel degree (default 1)")
    st.add_argument("--prefill-tokens", type=_nonneg_int, default=0,
                    help="prompt tokens prefilled this iteration")  # fmt: skip
    st.add_argument("--prefill-seqs", type=_nonneg_int, default=None,
                    help="prompts they form (default 1; equal lengths)")  # fmt: skip
    st.add_argument("--prefix-tokens", type=_nonneg_int, default=0,
                    help="cached tokens each prompt attends to before its own")  # fmt: skip
    st.add_argument("--decode-seqs", type=_nonneg_int, default=0,
                    help="sequences decoding one token each")  # fmt: skip
    st.add_argument("--context-tokens", type=_nonneg_int, default=None,
                    help="KV tokens the decoding sequences read in all "
                    "(default: one per sequence)")  # fmt: skip
    st.add_argument("--overhead-s", type=float, default=None,
                    help="fixed CPU time per iteration (default 0.002)")  # fmt: skip
    st.add_argument("--attention-fraction", type=_fraction, default=None,
                    help="share of the peak the attention kernels reach (default: catalog)")  # fmt: skip
    st.set_defaults(func=cmd_step_time)

    va = sub.add_parser("validate", help="linear-layer time vs a Vidur-format profile")
    va.add_argument("profile", help="a Vidur mlp.csv")
    va.add_argument("--model", required=True)
    va.add_argument("--gpu", required=True)
    va.add_argument("--figure", default=None, help="write the comparison figure here (PNG)")
    va.set_defaults(func=cmd_validate)


def _cost_model(args):
    from sim_models.hw.catalog import kernel_efficiency
    from sim_models.llm.costmodel import DEFAULT_OVERHEAD_S, StepCostModel

    from sim.errors import UserError

    eff = kernel_efficiency(args.gpu)
    if args.attention_fraction is not None:
        eff = replace(eff, attention_flops_fraction=args.attention_fraction)
    overhead = DEFAULT_OVERHEAD_S if args.overhead_s is None else args.overhead_s
    if not 0 <= overhead <= 1:
        raise UserError(f"--overhead-s must be in [0, 1], got {overhead}", where="--overhead-s")
    try:
        return StepCostModel(args.model, args.gpu, tp=args.tp, efficiency=eff,
                             overhead_s=overhead, table_tokens=1)  # fmt: skip
    except ValueError as exc:
        raise UserError(str(exc), where="--tp") from None


def cmd_step_time(args) -> int:
    from sim.errors import UserError

    cm = _cost_model(args)
    seqs = args.prefill_seqs
    if seqs is None:
        seqs = 1 if args.prefill_tokens else 0
    if args.prefill_tokens and not 1 <= seqs <= args.prefill_tokens:
        raise UserError("--prefill-seqs must be between 1 and --prefill-tokens", "--prefill-seqs")
    if seqs and not args.prefill_tokens:
        raise UserError("--prefill-seqs needs --prefill-tokens", "--prefill-seqs")
    ctx = args.decode_seqs if args.context_tokens is None else args.context_tokens
    if args.decode_seqs and ctx < args.decode_seqs:
        raise UserError("--context-tokens must count at least one token per decoding sequence",
                        "--context-tokens")  # fmt: skip
    pairs = 0.0
    if seqs:
        from sim_models.hw.specs import causal_pairs

        each, extra = divmod(args.prefill_tokens, seqs)
        pairs = (seqs - extra) * causal_pairs(each, args.prefix_tokens) + extra * causal_pairs(
            each + 1, args.prefix_tokens
        )
    step = cm.step(
        prefill_tokens=args.prefill_tokens, prefill_pairs=pairs, prefill_seqs=seqs,
        prefix_tokens=args.prefix_tokens * seqs, decode_seqs=args.decode_seqs,
        context_tokens=ctx,
    )  # fmt: skip
    out = {
        "model": cm.model.name, "gpu": cm.gpu.name, "tp": cm.tp,
        "prefill_tokens": args.prefill_tokens, "prefill_seqs": seqs,
        "prefix_tokens": args.prefix_tokens, "decode_seqs": args.decode_seqs,
        "context_tokens": ctx, **step.as_dict(),
    }  # fmt: skip
    print(json.dumps(out))
    return 0


def cmd_validate(args) -> int:
    from sim_models.llm.validation import compare_linear, error_summary, figure, load_profile

    table = compare_linear(load_profile(args.profile), args.model, args.gpu)
    summary = error_summary(table)
    print(f"linear layers per iteration, {args.model} on {args.gpu}: model vs {args.profile}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.figure:
        path = figure(table, args.figure, f"{args.model} on {args.gpu}")
        print(f"figure: {path}")
    return 0
