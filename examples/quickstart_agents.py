"""useChat + an OpenAI Agents SDK agent: `uvicorn quickstart_agents:app` (needs OPENAI_API_KEY)."""

from agents import Agent, function_tool
from fastapi import FastAPI

from uiwire.adapters.agents import AgentsAdapter
from uiwire.server import ChatEndpoint


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21°C in {city}"


agent = Agent(name="Assistant", instructions="Be brief.", tools=[get_weather])
app = FastAPI()
chat = ChatEndpoint(AgentsAdapter(agent))
app.add_route("/api/chat", chat.respond, methods=["POST"])
