import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type LocalTree,
  layout,
  parseProbe,
  renderPlace,
  renderProbe,
  scanLocal,
} from '../../src/fleet/put.js';
import { raw, renderStop, runCommandLine, script, sh, userCommand } from '../../src/fleet/script.js';
import { renderOpenTempDir } from '../../src/fleet/sweep.js';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const NASTY = `a b 'q' "d" $(touch pwned) \`x\` ; | & * ~ \\ $HOME`;

/** Runs a rendered script the way the fleet does: bash -euo pipefail on a file. */
function bash(text: string, cwd: string): { code: number; stdout: string; stderr: string } {
  const path = join(cwd, 'script.sh');
  writeFileSync(path, text);
  try {
    const stdout = execFileSync('bash', ['-euo', 'pipefail', path], { cwd, encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sh template', () => {
  it('quotes every interpolated value so the shell sees it as one literal word', () => {
    const out = bash(script('echo', sh`printf '%s\\n' ${NASTY} ${['x y', "it's"]}`).text, tmpdir());
    expect(out.stdout).toBe(`${NASTY}\nx y\nit's\n`);
  });

  it('does not quote fragments twice, and raw() is shell by intent', () => {
    const inner = sh`echo ${'a b'}`;
    expect(sh`${inner} && ${raw('true')}`.text).toBe("echo 'a b' && true");
  });

  it('closes stdin first so a sudo password line cannot be read by the script', () => {
    expect(script('x', raw('cat')).text).toBe('exec </dev/null\ncat\n');
  });
});

describe('runCommandLine', () => {
  it('renders the wrapper for root, sudo with a password and sudo without one', () => {
    const lines = [
      runCommandLine('/tmp/.kubeon-1/1-exec.sh', { sudo: false, sudoPassword: false, timeoutMs: 600_000 }),
      runCommandLine('/tmp/.kubeon-1/2-x y.sh', { sudo: true, sudoPassword: true, timeoutMs: 1500 }),
      runCommandLine('/tmp/.kubeon-1/3.sh', { sudo: true, sudoPassword: false, timeoutMs: 90_000 }),
    ];
    expect(`${lines.join('\n')}\n`).toBe(golden('run-command-lines.txt'));
  });

  it('never puts a password in the command line', () => {
    const line = runCommandLine('/tmp/s.sh', { sudo: true, sudoPassword: true, timeoutMs: 1000 });
    expect(line).toContain("sudo -S -p ''");
    expect(line).not.toMatch(/echo|<<</);
  });
});

describe('userCommand', () => {
  it('runs one argument as a shell line and several as an exact argv', () => {
    expect(userCommand(['ls | wc -l']).text).toBe('ls | wc -l');
    expect(userCommand(['touch', 'a b', '$(id)', "it's"]).text).toBe(`touch 'a b' '$(id)' 'it'\\''s'`);
  });
});

const tree = (kind: 'file' | 'dir'): LocalTree =>
  kind === 'file'
    ? {
        kind,
        root: '/src/my file',
        links: [],
        dirs: [],
        bytes: 3,
        files: [{ rel: '', path: '/src/my file', size: 3, mode: 0o644, sha256: 'a'.repeat(64) }],
      }
    : {
        kind,
        root: '/src/d',
        links: [],
        dirs: ['sub $(x)'],
        bytes: 6,
        files: [
          { rel: "it's", path: "/src/d/it's", size: 3, mode: 0o755, sha256: 'b'.repeat(64) },
          { rel: 'sub $(x)/f', path: '/src/d/sub $(x)/f', size: 3, mode: 0o600, sha256: 'c'.repeat(64) },
        ],
      };

describe('copy scripts', () => {
  it('renders the probe for a file and a directory (golden)', () => {
    const file = renderProbe(tree('file'), layout(tree('file'), '/opt/x y'));
    const dir = renderProbe(tree('dir'), layout(tree('dir'), '/opt/dest dir/'));
    expect(`${file.text}---\n${dir.text}`).toBe(golden('probe.sh'));
  });

  it('renders the placement (golden)', () => {
    const s = renderPlace(
      [
        {
          staged: '/tmp/.kubeon-1/0.up',
          tmp: "/opt/.it's.kubeon-1.tmp",
          final: "/opt/it's",
          mode: '0755',
          sha256: 'b'.repeat(64),
        },
      ],
      [{ final: '/opt/$(x)', mode: '0600' }],
    );
    expect(s.text).toBe(golden('place.sh'));
  });

  it('places verified files under names with metacharacters and refuses a corrupt one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-place-'));
    const data = 'hello\n';
    const sum = execFileSync('sha256sum', { input: data, encoding: 'utf8' }).split(' ')[0]!;
    const final = join(dir, NASTY);
    writeFileSync(join(dir, 'staged'), data);
    const ok = bash(
      renderPlace(
        [{ staged: join(dir, 'staged'), tmp: join(dir, '.t1'), final, mode: '0640', sha256: sum }],
        [],
      ).text,
      dir,
    );
    expect(ok.code).toBe(0);
    expect(readFileSync(final, 'utf8')).toBe(data);
    expect(statSync(final).mode & 0o777).toBe(0o640);
    expect(() => statSync(join(dir, 'pwned'))).toThrow();

    writeFileSync(join(dir, 'bad'), 'tampered\n');
    const bad = bash(
      renderPlace([{ staged: join(dir, 'bad'), tmp: join(dir, '.t2'), final, mode: '0640', sha256: sum }], [])
        .text,
      dir,
    );
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('sha256 mismatch');
    expect(readFileSync(final, 'utf8')).toBe(data);
    expect(() => statSync(join(dir, '.t2'))).toThrow();
  });

  it('a placement ended by TERM (its process group killed) leaves no temporary file beside the destination', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-place-term-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // A checksum that takes its time, so the signal arrives while the temporary name exists.
    writeFileSync(join(bin, 'openssl'), '#!/bin/sh\ntouch "$MARK"; sleep 30\n', { mode: 0o755 });
    writeFileSync(join(dir, 'staged'), 'data\n');
    const text = renderPlace(
      [
        {
          staged: join(dir, 'staged'),
          tmp: join(dir, '.t1'),
          final: join(dir, 'f'),
          mode: '0644',
          sha256: 'c'.repeat(64),
        },
      ],
      [],
    ).text;
    const mark = join(dir, 'summing');
    const child = spawn('bash', ['-euo', 'pipefail', '-c', text], {
      detached: true,
      env: { PATH: `${bin}:${process.env.PATH}`, MARK: mark },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    while (!existsSync(mark)) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(dir, '.t1'))).toBe(true);
    process.kill(-child.pid!, 'SIGTERM');
    expect([143, 'SIGTERM']).toContain(await exited);
    expect(readdirSync(dir).sort()).toEqual(['bin', 'summing']);
  });

  it('copies symbolic links as links and refuses FIFOs, naming them', async () => {
    const src = mkdtempSync(join(tmpdir(), 'kubeon-scan-'));
    writeFileSync(join(src, 'f'), 'x');
    symlinkSync('f', join(src, 'to-f'));
    symlinkSync('/etc/nowhere', join(src, 'dangling'));
    const scanned = await scanLocal(src);
    expect(scanned.files.map((f) => f.rel)).toEqual(['f']);
    expect(scanned.links).toEqual([
      { rel: 'dangling', target: '/etc/nowhere' },
      { rel: 'to-f', target: 'f' },
    ]);
    const dest = mkdtempSync(join(tmpdir(), 'kubeon-links-'));
    const r = bash(renderPlace([], [], [{ final: join(dest, 'l $(x)'), target: "it's" }]).text, dest);
    expect(r.code).toBe(0);
    expect(readlinkSync(join(dest, 'l $(x)'))).toBe("it's");

    execFileSync('mkfifo', [join(src, 'pipe')]);
    await expect(scanLocal(src)).rejects.toThrow(
      /holds 1 FIFO, socket or device file\(s\), which cannot be copied: .*pipe/,
    );
  });

  it('falls back to sha256sum on nodes without openssl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-nossl-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['cp', 'rm', 'chmod', 'mv', 'sha256sum', 'cat'])
      symlinkSync(
        execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
        join(bin, tool),
      );
    const data = 'no openssl here\n';
    const sum = execFileSync('sha256sum', { input: data, encoding: 'utf8' }).split(' ')[0]!;
    writeFileSync(join(dir, 'staged'), data);
    const path = join(dir, 'place.sh');
    const text = renderPlace(
      [
        {
          staged: join(dir, 'staged'),
          tmp: join(dir, '.t'),
          final: join(dir, 'final'),
          mode: '0600',
          sha256: sum,
        },
      ],
      [],
    ).text;
    writeFileSync(path, text);
    execFileSync('/bin/bash', ['-euo', 'pipefail', path], { env: { PATH: bin }, stdio: 'pipe' });
    expect(readFileSync(join(dir, 'final'), 'utf8')).toBe(data);
  });

  it('probes existing files by index and detects a directory destination', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-probe-'));
    const t = tree('file');
    writeFileSync(join(dir, 'my file'), 'abc');
    const out = bash(renderProbe(t, layout(t, dir)).text, dir);
    expect(out.code).toBe(0);
    const p = parseProbe(out.stdout);
    expect(p.isDir).toBe(true);
    expect(p.existing.get(0)?.sha256).toBe(
      execFileSync('sha256sum', { input: 'abc', encoding: 'utf8' }).split(' ')[0],
    );
  });

  it('lays out files and directories', () => {
    expect(layout(tree('file'), '/opt/').finals).toEqual(['/opt/my file']);
    expect(layout(tree('file'), '/opt/f')).toMatchObject({ probeDir: true, finals: ['/opt/f'] });
    expect(layout(tree('dir'), '/opt/d/').finals).toEqual(["/opt/d/it's", '/opt/d/sub $(x)/f']);
    expect(() => layout(tree('file'), 'relative')).toThrow(/not absolute/);
  });
});

describe('temporary directory and stop', () => {
  it('renders the sweep folded into opening the directory, and the stop command (golden)', () => {
    const text = `${renderOpenTempDir('/tmp/.kubeon-00ff', sh`echo ${'extra sweep'}`)}\n---\n${renderStop('/tmp/.kubeon-00ff/3-ab.sh')}\n`;
    expect(text).toBe(golden('open-temp-dir.sh'));
  });

  it('stops the process group a run command line started, children included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-stop-'));
    const path = join(dir, '1-ab.sh');
    writeFileSync(path, `sleep 30 &\necho "$!" > ${dir}/child\nwait\n`);
    const child = spawn('sh', [
      '-c',
      runCommandLine(path, { sudo: false, sudoPassword: false, timeoutMs: 60_000 }),
    ]);
    // timeout(1) ends with the signal it was sent (re-raised) or 128 + its number.
    const exited = new Promise<number | string | null>((r) =>
      child.on('exit', (code, sig) => r(code ?? sig)),
    );
    const until = Date.now() + 5000;
    while (!existsSync(join(dir, 'child')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const sleeper = Number(readFileSync(join(dir, 'child'), 'utf8'));
    execFileSync('sh', ['-c', renderStop(path)]);
    expect([143, 'SIGTERM']).toContain(await exited);
    await new Promise((r) => setTimeout(r, 200));
    // Gone, or a zombie waiting for a reaper: either way no longer running.
    const state = existsSync(`/proc/${sleeper}/stat`)
      ? readFileSync(`/proc/${sleeper}/stat`, 'utf8').split(') ')[1]![0]
      : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });
});
