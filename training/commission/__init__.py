"""``weld-train commission``: teach the product a weld type from its good scans alone.

- :mod:`.survey`: one scan's geometry, measured with no knowledge of the type (path kind,
  bead length, width and height, plate levels, patch, outer-plate tilt, shadow, spacing);
- :mod:`.learn`: the type's geometry from many surveys (medians and spread), and the
  refusals (too few scans, mixed types or layouts, defects, capture failures);
- :mod:`.report`: the commissioning report (markdown + PNGs);
- :mod:`.run`: the whole job: learn, write the weld-types entry, grow the training set,
  train, validate on held-back scans and publish, all or nothing.
"""
