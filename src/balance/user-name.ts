import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** A uid's name from a passwd file (Node can only look up its own user); `#uid` when not listed, as sudo -u takes it. */
export function userNameOf(uid: number, passwdFile = '/etc/passwd'): string {
  try {
    for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return name;
    }
  } catch {
    // No passwd file (a minimal container): the number will do.
  }
  return `#${uid}`;
}

/**
 * Who is running this, for the override's `by`: the effective user, and under sudo the user who
 * ran sudo, since "root" alone does not say who drained the host.
 */
export function currentUser(env: Readonly<Record<string, string | undefined>>): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = `uid ${process.geteuid?.() ?? '?'}`;
  }
  const sudo = env.SUDO_USER;
  // eslint-disable-next-line no-control-regex
  return sudo && sudo !== name && /^[^\u0000-\u001f\u007f]{1,64}$/.test(sudo) ? `${name} (sudo: ${sudo})` : name;
}
