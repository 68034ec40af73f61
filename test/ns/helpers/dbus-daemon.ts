/**
 * A private dbus-daemon with a system-bus-like policy plus our policy file,
 * for tests. Its socket lives in a temp dir readable by everyone so an
 * unprivileged caller (setpriv --reuid=65534) can connect.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from '../../helpers/netns';

export interface TestBus {
  address: string;
  dir: string;
  pid: number;
  stop(): void;
}

/** Start dbus-daemon; `policyFile` is our policy, with group="ctsync" replaced by `group`. */
export function startTestBus(policyFile: string, group: string): TestBus {
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-dbus-'));
  chmodSync(dir, 0o755);
  const policy = readFileSync(policyFile, 'utf8').replace(/group="ctsync"/g, `group="${group}"`);
  writeFileSync(join(dir, 'org.ctsync.Daemon1.conf'), policy);
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=${dir}/bus</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>${dir}/org.ctsync.Daemon1.conf</include>
</busconfig>
`,
  );
  const out = sh(`dbus-daemon --config-file=${dir}/bus.conf --fork --print-address=1 --print-pid=1 --nosyslog`);
  const [address, pidText] = out.trim().split('\n');
  const pid = Number(pidText);
  if (!address || !Number.isInteger(pid) || pid <= 0) throw new Error(`dbus-daemon: unexpected output ${out}`);
  return {
    address,
    dir,
    pid,
    stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
