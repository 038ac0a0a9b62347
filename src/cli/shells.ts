/** The shells `kubeon completion` writes for; apart from completion.ts, which --help need not load. */
export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];
