"""The scorer's training config: one dataclass, read by the loop and turned into `sketchq-train train`'s
options by tyro (each field's docstring is its help text).

Stages of the shipped recipe (models/README.md): 1. head=softmax from scratch; 2. head=gacl from a stage-1
checkpoint (`init_from`), f scaled so the median training q starts at `q_init_median` (inside [l_a, u_a]),
the margin and lambda_g ramped in over `ramp_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import tyro

from training.losses.gacl import GACLConfig
from training.model.presets import ENCODER_PRESETS

PRESET_NAMES = tuple(ENCODER_PRESETS)
DEFAULT_DATA = "../shared/data/quickdraw"


@dataclass
class DataOptions:
    """The sketches a training reads (the scorer's and the Sketch-RNN's)."""

    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    """sketch files or folders (.ndjson[.gz], .npz, .bin)"""
    categories: list[str] | None = None
    """classes to train on, in this order (None: every category found)"""
    max_per_class: int | None = None
    """keep at most this many training drawings per category (validation and test: 1/8 of it each), sampled
    while streaming the files, so a data set larger than memory can be read (the paper's recipe: 7000)"""


@dataclass
class TrainConfig(DataOptions):
    out_dir: Annotated[str, tyro.conf.arg(name="out")] = "runs/default"
    """run folder: checkpoints (epoch_NNN.pt, last.pt) and metrics.jsonl"""
    preset: Literal[PRESET_NAMES] = "conv-compact"
    """encoder preset (training/model/encoders.py)"""
    head: Literal["gacl", "softmax"] = "gacl"
    """objective: GACL, or the normalised-softmax baseline"""
    gacl: Annotated[GACLConfig, tyro.conf.OmitArgPrefixes] = field(default_factory=GACLConfig)
    """GACL's constants; its scale s is also the normalised softmax's"""
    epochs: int = 20
    """epochs to train (the learning-rate schedule spans them)"""
    batch_size: int = 256
    """sketches per step"""
    optimizer: Literal["adam", "adamw"] = "adam"
    """the optimiser: Adam, or AdamW (decoupled weight decay)"""
    lr: float = 1e-3
    """peak learning rate"""
    weight_decay: float = 0.0
    """weight decay (decoupled for adamw)"""
    schedule: Literal["restarts", "cosine"] = "restarts"
    """restarts: a cosine within every epoch (the paper); cosine: one cosine over all epochs"""
    warmup_steps: int = 0
    """linear learning-rate warm-up steps"""
    seed: int = 0
    """seed of the initialisation, batch order and augmentation"""
    device: str = "cpu"
    """torch device (cpu, cuda, cuda:1, ...)"""
    threads: int = 0
    """torch intra-op threads (0: one per core); two runs side by side should take half each"""
    max_points: int = 128
    """points per sketch after preprocessing (longer sketches are re-simplified)"""
    augment: bool = True
    """random rotation and per-axis scaling (and the point-density and direction augmentations when set)"""
    rotate_degrees: float = 10.0
    """augmentation: each sketch is rotated by an angle drawn uniformly within +-this many degrees"""
    scale_range: float = 0.1
    """augmentation: each axis is scaled by a factor drawn uniformly within 1 +- this"""
    drop_points_max: float = 0.0
    """> 0: drop up to this fraction of stroke-interior points (density augmentation)"""
    reverse_prob: float = 0.0
    """> 0: draw every stroke backwards with this probability (direction augmentation)"""
    mirror_prob: float = 0.0
    """> 0: flip each sketch left-right with this probability (training sketches and outliers)"""
    rank_weight: float = 0.0
    """GACL: > 0 adds the degradation ranking loss (training.losses.degrade) with this weight"""
    rank_margin: float = 0.1
    """ranking: damaged copies must score below exp(-margin) x the clean q"""
    rank_count: int = 32
    """ranking: sketches per batch that get a damaged copy, split evenly between the kinds"""
    rank_kinds: str = "jitter,drop"
    """ranking: comma-separated kinds of damage, of training.losses.degrade.KINDS"""
    rank_jitter_min: float = 0.02
    """ranking: jitter sigma ~ U(min, max), a fraction of the longest side"""
    rank_jitter_max: float = 0.08
    """ranking: upper end of the jitter sigma"""
    rank_drop_min: float = 0.2
    """ranking: each stroke dropped with probability ~ U(min, max)"""
    rank_drop_max: float = 0.6
    """ranking: upper end of the drop probability"""
    rank_prefix_min: float = 0.3
    """ranking, prefix: the first floor(r n) of n strokes kept, r ~ U(min, max) (detail: the floor(r n) with the
    most ink)"""
    rank_prefix_max: float = 0.8
    """ranking, prefix: upper end of r"""
    rank_reference: Literal["own", "class"] = "own"
    """ranking: own: below its own clean original; class: also below its class's running mean log q"""
    outlier_count: int = 0
    """GACL: > 0 adds outlier exposure: this many drawings per batch of the data's OTHER categories (training
    split), whose log q must sit outlier_margin below the batch's mean clean log q (training.losses.outlier)"""
    outlier_weight: float = 1.0
    """outlier exposure: weight of its hinge"""
    outlier_margin: float = 0.5
    """outlier exposure: margin in log q"""
    outlier_lengths: Literal["any", "batch"] = "any"
    """outlier exposure: any: drawn from every length (the shipped v5; they pad the length-sorted batch to their
    longest, about 2.4x the points a step); batch: only those no longer than the batch's own padded length
    (cheaper, but it lost most of the effect on AUROC and scribbles: docs/results/agreement.md)"""
    distill_from: list[str] | None = None
    """GACL: scorer checkpoints (same classes and preprocessing) whose mean standardised log q the run's log q must
    follow, over the batch and within each class (ensemble distillation, training.losses.distill)"""
    distill_weight: float = 1.0
    """ensemble distillation: weight of its loss (the sum of two 1 - correlation terms)"""
    init_from: str | None = None
    """checkpoint to start from (the GACL stage); it may have fewer classes than this run"""
    q_init_median: float | None = 60.0
    """GACL: scale f so the median training q starts here (None or 0: no scaling)"""
    ramp_steps: int = 0
    """GACL: margin and lambda_g ramp from 0 to 1 over this many steps"""
    soft_bins_start: int = 5
    """soft binning: cut points during the first soft_bins_hold epochs"""
    soft_bins_end: int = 20
    """soft binning: cut points reached after the ramp, then continuous q"""
    soft_bins_hold: int = 5
    """soft binning: epochs at soft_bins_start cut points"""
    soft_bins_ramp: int = 5
    """soft binning: epochs over which the cut points rise to soft_bins_end"""
    soft_binning: bool = True
    """GACL: soft binning of q in the margin (paper Eq. 18)"""
    bin_temperature: float = 0.1
    """soft binning: temperature, in units of the bin width"""
    max_steps: int | None = None
    """stop after this many steps in all (tests, smoke runs, an epoch cut short)"""
    log_every: int = 50
    """steps between two step records in metrics.jsonl"""
    fail_on_collapse: bool = True
    """stop with exit code 3 when the features collapse"""
    resume: bool = False
    """continue from out/last.pt"""

    @property
    def gacl_config(self) -> GACLConfig | None:
        """GACL's config for a GACL run, None for the softmax baseline."""
        return self.gacl if self.head == "gacl" else None
