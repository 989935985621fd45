"""synth_defects package."""
