"""Suite-wide settings that must be in place before any framework is imported."""

from __future__ import annotations

import os
import tempfile

# DSPy and litellm fetch model metadata over the network unless told to use the copy
# they ship with; nothing here may leave the machine.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# DSPy's disk cache would carry answers from one test run into the next.
os.environ.setdefault("DSPY_CACHEDIR", tempfile.mkdtemp(prefix="uiwire-dspy-cache-"))
