"""The kit the features share, and nothing feature-specific (no feature package is imported here).

- :mod:`.frontend`: where the code runs and what it can show (kernel, widgets);
- :mod:`.output`: putting widgets, text lines and plotly figures into a cell's output;
- :mod:`.formatting`: how numbers read (bytes, percentages, durations) and one-line text;
- :mod:`.decode_progress`: the line that counts a first-time image decode (images/s, time left);
- :mod:`.snapshot`: a live widget's static stand-in for a notebook reopened without its kernel.
"""
