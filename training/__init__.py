"""weld-train: per-weld-type committees (classifier, Siamese, anomaly) exported to ONNX.

torch/timm live here only; the runtime (``inspector.decision``) loads the bundles without them.

- Input: ``inspector.decision.model_input`` is the one definition. Members take the height
  map as it is (z in mm + validity, native size); the graph divides heights by the nominal
  bead height, fills isolated dropouts from their valid neighbours and resizes to
  ``net_mm_per_px``. Networks get 3 channels (``in_chans=3``: height, validity, pit depth
  taken at the native resolution) so a shadow (no data) is never confused with a low
  surface and a 1 mm pore survives the resize.
- Classifier: a timm backbone (``pretrained=False``) or a compact CNN, class-balanced
  cross-entropy over ``synth_defects.classes``, physical augmentations, AdamW + one-cycle,
  best epoch by validation false accept at 1 % false reject.
- Siamese: shared encoder, pairwise contrastive loss; distance to a gallery of good maps.
- Anomaly: PatchCore-style memory bank of good patches over the trained classifier's frozen
  stride-4/8 feature maps (see ``members/anomaly.py``); image score + per-pixel map.
- Committee: members log-transformed (distances), standardised and Platt-scaled on the
  validation split (by source weld); non-negative committee weights chosen for the lowest
  validation false reject at the target false accept, scaled by a logistic fit; threshold
  for the configured false-accept rate, lowered within ``false_reject_budget`` for margin
  (``weld-train calibrate`` re-sets it on an existing bundle).
- Devices: CPU by default; CUDA with mixed precision when present. Several GPUs:
  data-parallel under torchrun (``training.distributed``: DDP, one process per GPU).
"""
