// Which streams hold dead letters: `dead-letters:<pipeline>` (the pipelines' default), or any
// stream named with dead-letter(s) or dlq as a word.
export function isDeadLetterStream(stream: string): boolean {
  return /(^|[:._/-])(dead-?letters?|dlq)([:._/-]|$)/i.test(stream);
}
