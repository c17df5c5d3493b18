import { toErrorBody } from '../../shared/errors';
import { flagName, SETTINGS } from '../config';

const USAGE = `Usage: longshot <command> [options]

Commands:
  serve      run the daemon on 127.0.0.1 (--port, --data-dir, --models-dir, --device, --threads)
  pair       print the pairing token and a one-time code for the panel (--json)
  generate   make a clip: longshot generate "<prompt>" --seconds S --fps F [--size WxH] [--seed N]
             [--steps N] [--guidance G] [--sampler dpmpp-2m|ddim] [--format mp4|mov|png]
             [--extend FILE@T | --extend-head FILE@T | --fill A@T1,B@T2] [--variations N] -o out.mp4 [--json]
  models     list the model packages (--json)
  doctor     check providers, ffmpeg, the data folder and model hashes (--json)
  bench      measure the engine: step time, overhead, 2 s clip time, first preview (--json)

Settings, each a flag or an environment variable (the flag wins):
${Object.values(SETTINGS)
  .map((s) => `  --${flagName(s.key).padEnd(18)} ${s.env.padEnd(26)} ${s.description}`)
  .join('\n')}

Run 'longshot <command> --help' for one command's options.`;

/** `longshot <command> --help`: what one command takes, with an example; one entry per command of commands.ts. */
const HELP: Record<string, string> = {
  serve: `Usage: longshot serve [--port N] [--data-dir DIR] [--models-dir DIR] [--device D] [--threads N]

Runs the daemon on 127.0.0.1 (default port 43117) until Ctrl-C. Logs are JSON lines on stderr.`,
  pair: `Usage: longshot pair [--json]

Prints a one-time code (5 minutes; wrong tries are slowed, never burn it) to type into the Premiere panel, and the token other clients send
as "Authorization: Bearer <token>".`,
  generate: `Usage: longshot generate "<prompt>" -o OUT [options]

Makes one clip on this machine (no daemon needed).
  -o, --output FILE      where to write it; .mp4 (H.264), .mov (ProRes 422 unless --codec), no extension: PNGs
  --seconds S            length in seconds (default 4)
  --fps F                frame rate, 6 to 60; 23.976 and 29.97 are written exactly (default 24)
  --size WxH             frame size, even numbers (default: the model's aspect, at least 256 px tall)
  --seed N               0 to 4294967295 (default: random; the result line prints it)
  --variations N         N clips with seeds N, N+1, …: OUT-seed<N>.mp4 each (default 1)
  --steps N              sampler steps per window (default: the model's)
  --guidance G           classifier-free guidance, 0 to 30
  --sampler NAME         dpmpp-2m or ddim
  --format F             mp4, mov or png (default: from the extension of -o)
  --codec C              for .mov: prores-422, prores-422-hq, prores-4444 or dnxhr-hq
  --model NAME           a package from \`longshot models\` (default: a footage model for --extend and --fill
                         where one is installed, else --default-model)
  --extend FILE@T        continue FILE after the frame at T seconds
  --extend-head FILE@T   lead into FILE before the frame at T seconds
  --fill A@T1,B@T2       fill the gap between A's frame at T1 and B's frame at T2
  --json                 JSON lines on stdout: progress events, then one "done" line per clip

MP4 and MOV clips carry their provenance as XMP and as Content Credentials (C2PA), signed with this install's
key in the data folder (--data-dir; the certificate is c2pa/cert.pem there).

Example: longshot generate "a red circle bounces" --seconds 2 --fps 23.976 --variations 4 -o circle.mp4`,
  models: `Usage: longshot models [--models-dir DIR] [--json]

Lists the model packages: what each knows (its domain) and the jobs it serves; * marks the default. With no
--model, generate runs an extend or a fill on a package that knows "footage" where one is installed, everything
else on the default.`,
  doctor: `Usage: longshot doctor [--device D] [--json]

Checks ffmpeg, the data folder, the model packages and each execution provider. Exits 1 when a clip cannot be
made on this machine; providers that are not installed are reported with the way to install them.`,
  bench: `Usage: longshot bench [--device D] [--threads N] [--json]

Measures the engine: step time, overhead over bare onnxruntime, a 2 s clip, the first preview.`,
};

/** Runs the command line; exits 2 on usage errors, 1 on failures, with one clear line on stderr. */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const wantsHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest; // after `--`, "--help" is a prompt
  if (!name || name === 'help' || wantsHelp(name) || options.some(wantsHelp)) {
    const topic = name === 'help' ? rest[0] : name;
    process.stdout.write((topic && HELP[topic] ? HELP[topic] : USAGE) + '\n');
    return;
  }
  // Every command has its help, so help's keys are the commands; the commands' modules load only now (lazily, in
  // the bundle): help and a mistyped name answer without loading ORT, SQLite, express or zod.
  if (!Object.hasOwn(HELP, name)) {
    process.stderr.write(`error: unknown command "${name}"\n\n${USAGE}\n`);
    process.exit(2);
  }
  try {
    const { commands } = await import('./commands');
    await commands[name]!(rest);
  } catch (err) {
    const body = toErrorBody(err);
    process.stderr.write(`error: ${body.message}\n`);
    process.exit(body.code === 'bad_request' ? 2 : 1);
  }
}

void main(process.argv.slice(2));
