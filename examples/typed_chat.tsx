// A chat page typed by `python examples/typed_chat.py -o chat-types.d.ts`.
import { useChat } from "@ai-sdk/react";
import { lastAssistantMessageIsCompleteWithToolCalls } from "ai";
import type { ChatMessage } from "./chat-types";

export function TravelChat() {
  const { messages, addToolOutput, addToolApprovalResponse } = useChat<ChatMessage>({
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    async onToolCall({ toolCall }) {
      if (toolCall.toolName === "get_location") {
        // output must be a Location: { lat: number; lon: number }
        void addToolOutput({
          tool: "get_location",
          toolCallId: toolCall.toolCallId,
          output: { lat: 48.85, lon: 2.35 },
        });
      }
    },
  });

  return (
    <div>
      {messages.map((message) => (
        <div key={message.id}>
          {message.parts.map((part, i) => {
            switch (part.type) {
              case "text":
                return <p key={i}>{part.text}</p>;
              case "tool-get_forecast":
                if (part.state !== "output-available") return null;
                if (part.preliminary && "status" in part.output) {
                  return <p key={i}>{part.output.status}</p>; // ForecastProgress
                }
                return (
                  <ul key={i}>
                    {Array.isArray(part.output) &&
                      part.output.map((day) => (
                        <li key={day.date}>
                          {part.input.city}, {day.date}: {day.sky}, {day.high_c}°C
                        </li>
                      ))}
                  </ul>
                );
              case "tool-book_hotel":
                if (part.state === "approval-requested") {
                  const { city, nights, guests } = part.input.booking;
                  return (
                    <button
                      key={i}
                      onClick={() =>
                        addToolApprovalResponse({ id: part.approval.id, approved: true })
                      }
                    >
                      Book {nights} nights in {city} for {guests.map((g) => g.name).join(", ")}
                    </button>
                  );
                }
                return part.state === "output-available" ? (
                  <p key={i}>
                    Booked: {part.output.reference} ({part.output.total_eur} EUR)
                  </p>
                ) : null;
              case "data-alert":
                return <strong key={i}>{part.data.city}: {part.data.text}</strong>;
              case "data-agent":
                return <small key={i}>{part.data.name} is answering</small>;
              default:
                return null;
            }
          })}
          {message.metadata?.usage && <small>{message.metadata.usage.totalTokens} tokens</small>}
        </div>
      ))}
    </div>
  );
}
