import { VaultOpsError } from '../errors.js';

/**
 * Everything a command does with the operator's terminal, in one injected object: where results
 * and diagnostics go, whether a human can answer, and the two kinds of question we ask (a typed
 * confirmation, a hidden password). Commands never touch process.stdin/stdout/stderr themselves,
 * so tests can run them in-process and the CLI's output rules live here.
 */
export interface Terminal {
  /** Results (text or JSON): the only thing scripts parse. */
  stdout: NodeJS.WritableStream;
  /** Plans, progress, warnings and errors. */
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** A human can type answers: stdin is a terminal. */
  interactive: boolean;
  /** stderr is a terminal: progress may redraw a line there. */
  stderrIsTTY: boolean;
  /** stdout is a terminal: a human reads results as they come (no script waits for a whole document). */
  stdoutIsTTY: boolean;
  /** Ask for `phrase` to be typed; true only when it was typed exactly. */
  confirm(question: string, phrase: string): Promise<boolean>;
  /** Read a line without echoing it (a password). */
  promptHidden(question: string): Promise<string>;
}

export interface TerminalStreams {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
}

/** The process's terminal, or injected streams (tests): injected stdin is interactive only if it says so. */
export function createTerminal(streams: TerminalStreams = {}): Terminal {
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  const stdin = streams.stdin ?? process.stdin;
  const interactive = stdin.isTTY === true;
  const terminal: Terminal = {
    stdout,
    stderr,
    stdin,
    interactive,
    stderrIsTTY: (stderr as { isTTY?: boolean }).isTTY === true,
    stdoutIsTTY: (stdout as { isTTY?: boolean }).isTTY === true,
    async confirm(question, phrase) {
      const answer = await promptLine(
        terminal,
        stdin,
        `${question}\nType "${phrase}" to continue (anything else stops): `,
        true,
      );
      return answer.trim() === phrase;
    },
    promptHidden(question) {
      return promptLine(terminal, stdin, question, false);
    },
  };
  return terminal;
}

/** Ctrl-C at a question: a refusal (exit 4) that callers may tell from a missing terminal. */
export class PromptInterrupted extends VaultOpsError {
  constructor() {
    super('confirmation', 'prompt interrupted (Ctrl-C): nothing was changed');
  }
}

/**
 * The one prompt: raw mode, so that Ctrl-C is ours to handle (nothing half-done: the question is
 * cancelled, the command stops with 'confirmation') and a hidden answer is never echoed.
 */
function promptLine(
  terminal: Terminal,
  stdin: TerminalStreams['stdin'] & object,
  question: string,
  echo: boolean,
): Promise<string> {
  if (!terminal.interactive || typeof stdin.setRawMode !== 'function') {
    return Promise.reject(
      new VaultOpsError('confirmation', 'a question needs a terminal and this run is not interactive'),
    );
  }
  const setRawMode = stdin.setRawMode.bind(stdin);
  const out = terminal.stderr;
  return new Promise((resolve, reject) => {
    // Raw mode before the question shows: a Ctrl-C typed the instant it appears must reach us as a
    // character (the question is cancelled), not as a SIGINT while the prompt still waits for a line.
    setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    out.write(question);
    let value = '';
    const finish = (error?: VaultOpsError) => {
      stdin.off('data', onData);
      setRawMode(false);
      stdin.pause();
      out.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new PromptInterrupted());
        if (ch === '\u007f' || ch === '\b') {
          if (echo && value.length > 0) out.write('\b \b');
          value = value.slice(0, -1);
        } else if (ch >= ' ') {
          value += ch;
          if (echo) out.write(ch);
        }
      }
    };
    stdin.on('data', onData);
  });
}
