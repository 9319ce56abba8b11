"""uiwire: stream agent runs to the Vercel AI SDK ``useChat`` frontend."""
