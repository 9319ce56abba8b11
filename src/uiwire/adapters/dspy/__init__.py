"""Stream DSPy programs to ``useChat`` (needs the ``uiwire[dspy]`` extra)."""

from uiwire._extras import needs_extra

with needs_extra("dspy", extra="dspy", needed_by="uiwire.adapters.dspy", package="DSPy"):
    from uiwire.adapters.dspy._plan import FieldRole
    from uiwire.adapters.dspy._translate import STATUS_PART
    from uiwire.adapters.dspy.adapter import DSPyAdapter
    from uiwire.adapters.dspy.history import HistoryFields, history_fields, to_dspy_inputs

__all__ = [
    "STATUS_PART",
    "DSPyAdapter",
    "FieldRole",
    "HistoryFields",
    "history_fields",
    "to_dspy_inputs",
]
