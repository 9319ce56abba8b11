"""useChat + a DSPy ReAct agent: `uvicorn quickstart_dspy:app` (needs OPENAI_API_KEY)."""

import dspy
from fastapi import FastAPI

from uiwire.adapters.dspy import DSPyAdapter
from uiwire.server import ChatEndpoint


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21°C in {city}"


dspy.configure(lm=dspy.LM("openai/gpt-4.1-mini"))
agent = dspy.ReAct("history: dspy.History, question -> answer", tools=[get_weather])
app = FastAPI()
chat = ChatEndpoint(DSPyAdapter(agent))
app.add_route("/api/chat", chat.respond, methods=["POST"])
