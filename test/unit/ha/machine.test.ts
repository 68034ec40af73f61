import { describe, expect, it } from 'vitest';
import { compareIp, createMachine, masterDownMs, skewMs, step, type Machine, type MachineConfig, type MachineEvent } from '../../../src/ha/vrrp/machine';

const cfg: MachineConfig = { version: 3, priority: 100, advertIntCs: 100, preempt: true, preemptDelayMs: 0, initialState: 'BACKUP', primaryAddress: '192.0.2.1' };

function run(c: Partial<MachineConfig>, events: MachineEvent[], now = 0): { m: Machine; actions: string[] } {
  let m = createMachine({ ...cfg, ...c });
  let actions: string[] = [];
  for (const e of events) {
    const r = step(m, e, now);
    m = r.machine;
    actions = r.actions.map((a) => (a.type === 'set-timer' ? `set ${a.timer} ${a.ms}` : a.type === 'clear-timer' ? `clear ${a.timer}` : a.type === 'send-advert' ? `advert ${a.priority}` : a.type === 'transition' ? `${a.from}->${a.to}` : a.type));
  }
  return { m, actions };
}

const adv = (priority: number, from = '192.0.2.2', maxAdvIntCs = 100): MachineEvent => ({ type: 'advert', priority, from, maxAdvIntCs });

describe('timers (RFC 5798 section 6.1, RFC 3768 section 6.1)', () => {
  it('skew and master down interval', () => {
    expect(skewMs(3, 100, 100)).toBeCloseTo(609.375);
    expect(skewMs(3, 200, 50)).toBeCloseTo(109.375);
    expect(skewMs(2, 100, 300)).toBeCloseTo(609.375); // v2: seconds, independent of the interval
    expect(masterDownMs(3, 100, 100)).toBeCloseTo(3609.375);
    expect(masterDownMs(2, 254, 100)).toBeCloseTo(3007.8125);
  });
  it('compareIp is numeric', () => {
    expect(compareIp('192.0.2.10', '192.0.2.9')).toBe(1);
    expect(compareIp('2001:db8::1', '2001:db8::1')).toBe(0);
    expect(compareIp('fe80::1', 'fe80::a')).toBe(-1);
  });
});

describe('state machine steps', () => {
  const table: Array<[string, Partial<MachineConfig>, MachineEvent[], string, string[]]> = [
    ['startup as backup', {}, [{ type: 'startup' }], 'BACKUP', ['INIT->BACKUP', 'set master-down 3609.375']],
    ['startup, owner 255 goes master at once', { priority: 255 }, [{ type: 'startup' }], 'MASTER', ['clear master-down', 'INIT->MASTER', 'advert 255', 'set advert 1000', 'add-vips', 'send-garp']],
    ['startup with state MASTER: short first timer', { initialState: 'MASTER' }, [{ type: 'startup' }], 'BACKUP', ['INIT->BACKUP', 'set master-down 1000']],
    ['backup: master down timer', {}, [{ type: 'startup' }, { type: 'master-down-timer' }], 'MASTER', ['clear master-down', 'BACKUP->MASTER', 'advert 100', 'set advert 1000', 'add-vips', 'send-garp']],
    ['backup: higher advert resets the timer', {}, [{ type: 'startup' }, adv(150)], 'BACKUP', ['set master-down 3609.375']],
    ['backup: equal advert resets the timer', {}, [{ type: 'startup' }, adv(100)], 'BACKUP', ['set master-down 3609.375']],
    ['backup: lower advert ignored with preempt', {}, [{ type: 'startup' }, adv(50)], 'BACKUP', []],
    ['backup: lower advert accepted with nopreempt', { preempt: false }, [{ type: 'startup' }, adv(50)], 'BACKUP', ['set master-down 3609.375']],
    ['backup: priority 0 => skew time', {}, [{ type: 'startup' }, adv(0)], 'BACKUP', ['set master-down 609.375']],
    ['backup v3 learns the master interval', {}, [{ type: 'startup' }, adv(200, '192.0.2.2', 50)], 'BACKUP', ['set master-down 1804.6875']],
    ['master: advert timer', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, { type: 'advert-timer' }], 'MASTER', ['advert 100', 'set advert 1000']],
    ['master: higher advert => backup', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, adv(101)], 'BACKUP', ['clear advert', 'MASTER->BACKUP', 'remove-vips', 'set master-down 3609.375']],
    ['master: equal priority, higher address wins', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, adv(100, '192.0.2.2')], 'BACKUP', ['clear advert', 'MASTER->BACKUP', 'remove-vips', 'set master-down 3609.375']],
    ['master: equal priority, lower address loses', { primaryAddress: '192.0.2.3' }, [{ type: 'startup' }, { type: 'master-down-timer' }, adv(100, '192.0.2.2')], 'MASTER', []],
    ['master: lower advert ignored', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, adv(99)], 'MASTER', []],
    ['master: priority 0 => advert at once', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, adv(0)], 'MASTER', ['advert 100', 'set advert 1000']],
    ['master: shutdown sends priority 0', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, { type: 'shutdown' }], 'INIT', ['clear advert', 'clear master-down', 'advert 0', 'MASTER->INIT', 'remove-vips']],
    ['backup: shutdown', {}, [{ type: 'startup' }, { type: 'shutdown' }], 'INIT', ['clear advert', 'clear master-down', 'BACKUP->INIT']],
    ['master: interface down => fault', {}, [{ type: 'startup' }, { type: 'master-down-timer' }, { type: 'interface', up: false }], 'FAULT', ['clear advert', 'clear master-down', 'MASTER->FAULT', 'remove-vips']],
    ['fault: interface up => backup', {}, [{ type: 'startup' }, { type: 'interface', up: false }, { type: 'interface', up: true }], 'BACKUP', ['FAULT->BACKUP', 'set master-down 3609.375']],
    ['fault ignores timers and adverts', {}, [{ type: 'startup' }, { type: 'interface', up: false }, { type: 'master-down-timer' }, adv(0)], 'FAULT', []],
    ['startup with interface down => fault', {}, [{ type: 'interface', up: false }, { type: 'startup' }], 'FAULT', ['clear advert', 'clear master-down', 'INIT->FAULT']],
    ['force master from backup', {}, [{ type: 'startup' }, { type: 'force', to: 'MASTER' }], 'MASTER', ['clear master-down', 'BACKUP->MASTER', 'advert 100', 'set advert 1000', 'add-vips', 'send-garp']],
    ['force fault, then backup', {}, [{ type: 'startup' }, { type: 'force', to: 'FAULT' }, { type: 'force', to: 'BACKUP' }], 'BACKUP', ['FAULT->BACKUP', 'set master-down 3609.375']],
  ];
  for (const [name, c, events, state, actions] of table) {
    it(name, () => {
      const r = run(c, events);
      expect(r.m.state).toBe(state);
      expect(r.actions).toEqual(actions);
    });
  }

  it('priority change is used for the next timers and adverts', () => {
    const r = run({}, [{ type: 'startup' }, { type: 'priority', priority: 200 }, adv(250)]);
    expect(r.m.priority).toBe(200);
    expect(r.actions).toEqual([`set master-down ${masterDownMs(3, 200, 100)}`]);
  });

  it('preempt_delay: lower adverts keep us backup until the delay has passed', () => {
    let m = createMachine({ ...cfg, preemptDelayMs: 5000 });
    m = step(m, { type: 'startup' }, 0).machine;
    const at = (t: number): string[] => {
      const r = step(m, adv(50), t);
      m = r.machine;
      return r.actions.map((a) => a.type);
    };
    expect(at(1000)).toEqual(['set-timer']); // delay starts: 1000 + 5000
    expect(at(5999)).toEqual(['set-timer']);
    expect(at(6000)).toEqual([]); // delay over: ignored, the down timer will fire
    expect(m.preemptAt).toBe(6000);
  });
});
