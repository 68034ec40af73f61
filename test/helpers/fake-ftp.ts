/**
 * A fake FTP control channel, just enough for the kernel's nf_conntrack_ftp
 * helper to create an expectation: the server answers USER/PASS/PASV (227 with
 * its own address), the client sends them. Both are node scripts (source text)
 * to run inside a namespace with `node -e` or from a file.
 */

/** FTP server on address:21; PASV answers with data port 195*256+80 = 50000. */
export function fakeFtpServer(address: string): string {
  const pasv = `${address.split('.').join(',')},195,80`;
  return `
const net = require('net');
net.createServer((s) => {
  s.write('220 fake ftp\\r\\n');
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\r\\n')) >= 0) {
      const cmd = buf.slice(0, i).split(' ')[0].toUpperCase();
      buf = buf.slice(i + 2);
      if (cmd === 'USER') s.write('331 password please\\r\\n');
      else if (cmd === 'PASS') s.write('230 logged in\\r\\n');
      else if (cmd === 'PASV') s.write('227 Entering Passive Mode (${pasv}).\\r\\n');
      else s.write('502 no\\r\\n');
    }
  });
  s.on('error', () => {});
}).listen(21, '${address}', () => console.log('ready'));
`;
}

export interface FtpClientOptions {
  /** net.connect options, e.g. { port: 21, host, localAddress, localPort }. */
  connect: Record<string, string | number>;
  /** Keep the control connection open after the 227 (else close it and exit 1 on error). */
  keepOpen: boolean;
}

/** FTP client: USER, PASS, PASV; prints 'pasv' when the 227 arrives. */
export function fakeFtpClient(o: FtpClientOptions): string {
  return `
const net = require('net');
const c = net.connect(${JSON.stringify(o.connect)});
const steps = ['USER anonymous', 'PASS x', 'PASV'];
let buf = '';
c.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\r\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 2);
    if (line.startsWith('227')) { console.log('pasv'); ${o.keepOpen ? '' : 'c.end(); return;'} }
    const next = steps.shift();
    if (next) c.write(next + '\\r\\n');
  }
});
${o.keepOpen ? "c.on('error', (e) => console.log('error ' + e.message));\nsetInterval(() => {}, 1000);" : "c.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });"}
`;
}
