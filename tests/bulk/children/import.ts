import { runCli } from '../../../cli/program';

/** `touchpoint import …` with the arguments after the child's name. */
void runCli(process.argv.slice(3)).then((code) => process.exit(code));
