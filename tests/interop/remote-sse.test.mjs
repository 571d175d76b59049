// A remote server over the legacy HTTP+SSE transport through corral
// (remote-suite.mjs).
import { suite } from './remote-suite.mjs';

suite('sse');
