import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { StackCommand } from './stack-process.ts';

/** Sends a command to a stack in its own process (`stack-process.ts`) and resolves with its reply. */
export async function askStack<T>(child: ChildProcess, command: StackCommand): Promise<T> {
  const reply = once(child, 'message');
  child.send(command);
  const [message] = (await reply) as [T];
  return message;
}
