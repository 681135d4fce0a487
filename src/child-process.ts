// The one way into execa: loaded on first use, so the commands that start no child process
// (tlsa, check, status) never read its ~300 KB chunk (esbuild splits a dynamic import apart).
export const loadExeca = (): Promise<typeof import('execa')> => import('execa');
