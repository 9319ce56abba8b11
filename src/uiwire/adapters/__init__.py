"""Framework adapters: native events in, ``StreamContext`` writes out.

Each adapter needs its framework's extra (``uiwire[dspy]``, ``uiwire[agents]``) and is
imported from its own module, so the core never imports a framework.
"""
