// Sizes in notes and warnings: "512 B", "19.5 KB", "16.0 MB". Stored notes use it (Kafka decode
// notes are read back on replay), so its output does not change.
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
