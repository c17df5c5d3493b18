import fs from 'node:fs';
import path from 'node:path';
import { request, startTestDaemon, tempDir } from '../../test/support/daemon-harness';
import { MAX_WAITING_WRONG_CODES, Pairing, PAIRING_CODE_TTL_MS } from './pairing';

describe('Pairing', () => {
  test('the token is random, ≥ 32 characters, stable, and stored readable by the owner only', () => {
    const dir = tempDir();
    const token = new Pairing(dir).token();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Pairing(dir).token()).toBe(token);
    expect(new Pairing(tempDir()).token()).not.toBe(token);
    expect(fs.statSync(path.join(dir, 'token')).mode & 0o777).toBe(0o600);
  });

  test('a code redeems once, in any case and spacing', () => {
    const pairing = new Pairing(tempDir());
    const { code } = pairing.createCode();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(pairing.redeem(` ${code.toLowerCase().replace('-', ' ')} `)).toBe(pairing.token());
    expect(() => pairing.redeem(code)).toThrow(/no pairing code is active/);
  });

  test('a code dies after 5 minutes', () => {
    let now = 1_000_000;
    const pairing = new Pairing(tempDir(), () => now);
    const { code } = pairing.createCode();
    now += PAIRING_CODE_TTL_MS + 1;
    expect(() => pairing.redeem(code)).toThrow(/expired/);
    expect(() => pairing.redeem(code)).toThrow(/no pairing code is active/);
  });

  test('wrong codes never burn the code; all of them share one pace, each answered 0.5 s after the one before', async () => {
    const now = 1_000_000;
    const pairing = new Pairing(tempDir(), () => now);
    const { code } = pairing.createCode();
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    await Promise.all(Array.from({ length: 8 }, () => expect(pairing.redeemPaced('0000-0000', sleep)).rejects.toThrow(/wrong code/)));
    expect(slept).toEqual([500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]);
    expect(await pairing.redeemPaced(code, sleep)).toBe(pairing.token());
    expect(slept.length).toBe(8);
  });

  test('while 32 wrong tries wait, any try is refused unchecked with queue_full', async () => {
    const pairing = new Pairing(tempDir());
    const { code } = pairing.createCode();
    const forever = () => new Promise<void>(() => undefined);
    for (let i = 0; i < MAX_WAITING_WRONG_CODES; i++) void pairing.redeemPaced('0000-0000', forever);
    await expect(pairing.redeemPaced(code, forever)).rejects.toMatchObject({ code: 'queue_full' });
  });

  test('POST /v1/pair exchanges the code for the token and the machine id', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      const { code } = daemon.pairing.createCode();
      const wrong = await request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'AAAA-AAAA' }) });
      expect(wrong.status).toBe(401);
      expect(wrong.json().error).toMatchObject({ code: 'unauthorized', field: 'code' });
      const res = await request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, client: 'test' }) });
      expect(res.status).toBe(200);
      const health = (await request(daemon.port, { path: '/health' })).json();
      expect(res.json()).toEqual({ token: daemon.token, machine: health.machine, hostname: health.hostname });
    } finally {
      await daemon.close();
    }
  });
});
