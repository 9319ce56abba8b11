"""Print a UI message stream made with uiwire's lifecycle machine, then read it back.

    python examples/print_stream.py [--target v5|v6|v7]

The stream is what a FastAPI endpoint would send to ``useChat``: reasoning, text, a tool
call whose arguments stream in, its result, a source, a live-updated data part and a
finish with usage metadata. The second half reads those bytes back the way the AI SDK
client does (``check_stream``) and prints the message ``useChat`` would hold.
"""

from __future__ import annotations

import argparse
import json
import sys

from uiwire.protocol import DONE_FRAME, StreamMachine, check_stream, encode_chunks


def weather_answer(machine: StreamMachine) -> bytes:
    """Each intent returns the chunks that express it; the machine handles the order."""
    chunks = machine.start(metadata={"model": "scripted-demo"})
    chunks += machine.reasoning_delta("The user wants the weather; ")
    chunks += machine.reasoning_delta("I should call the weather tool.")
    chunks += machine.data("status", {"phase": "calling tools"}, transient=True)
    title = None if machine.target == "v5" else "Weather lookup"  # AI SDK 5 has no titles
    chunks += machine.tool_input_start("call_1", "get_weather", title=title)
    for piece in ['{"city": ', '"Paris", ', '"unit": "C"}']:
        chunks += machine.tool_input_delta("call_1", piece)
    chunks += machine.tool_input_available("call_1", {"city": "Paris", "unit": "C"})
    chunks += machine.tool_output_available("call_1", {"temperature": 21, "sky": "clear"})
    chunks += machine.finish_step()  # one step per model call
    chunks += machine.data("forecast", {"days": 1}, id="fc")
    for token in ["It is ", "21°C ", "and clear ", "in Paris."]:
        chunks += machine.text_delta(token)
    chunks += machine.data("forecast", {"days": 3}, id="fc")  # same id: updated in place
    chunks += machine.source_url("src_1", "https://example.com/paris", title="Paris weather")
    chunks += machine.finish("stop", metadata={"usage": {"inputTokens": 42, "outputTokens": 17}})
    return encode_chunks(chunks) + DONE_FRAME


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", choices=["v5", "v6", "v7"], default="v6")
    args = parser.parse_args()

    body = weather_answer(StreamMachine(target=args.target))
    sys.stdout.write(body.decode())

    report = check_stream(body, target=args.target)
    if not report.ok:
        print(f"INVALID: {report.violation}", file=sys.stderr)
        return 1
    print(f"# valid for AI SDK {args.target} clients; the message useChat assembles:")
    print(json.dumps(report.message, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
