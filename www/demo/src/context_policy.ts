// What the demo does when a conversation outgrows the model's context: the oldest turns are
// left out (the system message always stays), so the newest question and room for the reply
// (max_tokens) fit. The caller shows a note saying how many were dropped.

import type { ChatMessage } from 'hearth-llm';

export interface Fitted {
  /** The messages to send: the system message (if any), then the newest history that fits. */
  messages: ChatMessage[];
  /** History messages left out, oldest first (the caller removes them from its history). */
  dropped: number;
}

/**
 * Drops the oldest history messages, a user turn and its reply at a time, until
 * `count(messages) + maxTokens <= contextLength` or only the newest user message is left (the
 * request then fails with ContextWindowExceededError, which the page shows).
 */
export async function fitConversation(
  count: (messages: ChatMessage[]) => Promise<number>,
  system: ChatMessage | null,
  history: ChatMessage[],
  maxTokens: number,
  contextLength: number,
): Promise<Fitted> {
  const withSystem = (h: ChatMessage[]) => (system ? [system, ...h] : [...h]);
  let dropped = 0;
  while (history.length - dropped > 1) {
    const tokens = await count(withSystem(history.slice(dropped)));
    if (tokens + maxTokens <= contextLength) break;
    // A whole turn (question and answer) at a time, so the history keeps starting with a user.
    dropped += history[dropped]?.role === 'user' && history[dropped + 1]?.role === 'assistant' ? 2 : 1;
  }
  return { messages: withSystem(history.slice(dropped)), dropped };
}
