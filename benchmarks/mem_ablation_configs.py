"""Write the memorised-regime ablation configs from the tuned recipe of the feature-constraint unlearner.

Each variant switches one part of the method off or back to its earlier choice, on top of the recipe
``lightning-unlearn tune`` chose for each scenario (``configs/bench/cifar10_mem/tuned/<scenario>/``), so the
ablation measures what each part adds at the tuned budget:

    python benchmarks/mem_ablation_configs.py      # writes configs/bench/cifar10_mem/ablation/<scenario>/*.yaml
    lightning-unlearn grid --config configs/bench/cifar10_mem/ablation.yaml
"""

from __future__ import annotations

from pathlib import Path

import yaml

TUNED = Path("configs/bench/cifar10_mem/tuned")
OUT = Path("configs/bench/cifar10_mem/ablation")

FIXED = "lightning_unlearn.losses.FixedWeights"

#: Variant name -> (why, overrides of model.init_args).
VARIANTS: dict[str, tuple[str, dict]] = {
    "fc": ("the tuned recipe itself", {}),
    "fc_no_unlikelihood": (
        "the teacher's feature constraint alone as the forget loss (unlikelihood share 0): what the unlikelihood adds",
        {"unlikelihood_share": 0.0},
    ),
    "fc_no_teacher": (
        "the unlikelihood term alone as the forget loss (share 1): what the random teacher's constraint adds",
        {"unlikelihood_share": 1.0},
    ),
    "fc_no_forget_task": (
        "forget weight 0: fine-tuning alone on the same data, steps and schedule (what the forget task adds)",
        {"balancer": {"class_path": FIXED, "init_args": {"weights": [0.0, 1.0]}}},
    ),
    "fc_fixed_weights": (
        "the balance fixed at 1:1 instead of the constrained, learnable forget weight",
        {"balancer": {"class_path": FIXED, "init_args": {"weights": [1.0, 1.0]}}},
    ),
    "fc_uncertainty": (
        "the earlier learnable balance: bounded uncertainty weighting",
        {"balancer": {"class_path": "lightning_unlearn.losses.UncertaintyWeighting"}},
    ),
    "fc_no_control_fixed": (
        "no holdout control (every forget sample pulled all along), weights 1:1; compare with fc_fixed_weights",
        {
            "control": "none",
            "balancer": {"class_path": FIXED, "init_args": {"weights": [1.0, 1.0]}},
        },
    ),
    "fc_other_distance": (
        "the other distance: standardised features (each sample its own random target) for normalised MSE "
        "(one common target) and back",
        {"distance": "swap"},
    ),
    "fc_retain_10pct": (
        "recovery on 10 % of the retain set (the paper's small share) instead of all of it",
        {"retain_share": 0.1},
    ),
}


def main() -> None:
    """Write one config per variant and scenario."""
    for recipe in sorted(TUNED.glob("*/feature_constraint.yaml")):
        scenario = recipe.parent.name
        base = yaml.safe_load(recipe.read_text())
        for name, (why, overrides) in VARIANTS.items():
            config = yaml.safe_load(yaml.safe_dump(base))
            args = config["model"].setdefault("init_args", {})
            args.update(overrides)
            if args.get("distance") == "swap":
                chosen = base["model"]["init_args"].get("distance", "normalized_mse")
                args["distance"] = "normalized_mse" if chosen == "standardized" else "standardized"
            path = OUT / scenario / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            header = f"# Ablation ({scenario}): {why}. Written by benchmarks/mem_ablation_configs.py from {recipe}.\n"
            path.write_text(header + yaml.safe_dump(config, sort_keys=False))
            print(path)


if __name__ == "__main__":
    main()
