/** A minimal ctsyncd configuration for one node whose sync link is a veth in a lab namespace. */
export function labConf(o: { local: string; peer: string; iface: string; dir: string; port?: number }): string {
  return [
    'Sync {',
    '\tMode FTFW {',
    '\t}',
    '\tUDP {',
    `\t\tIPv4_address ${o.local}`,
    `\t\tIPv4_Destination_Address ${o.peer}`,
    `\t\tPort ${o.port ?? 3780}`,
    `\t\tInterface ${o.iface}`,
    '\t}',
    '}',
    'General {',
    `\tLockFile ${o.dir}/ctsyncd.lock`,
    `\tLogFile ${o.dir}/ctsyncd.log`,
    '\tUNIX {',
    `\t\tPath ${o.dir}/ctsyncd.ctl`,
    '\t}',
    '}',
    '',
  ].join('\n');
}
