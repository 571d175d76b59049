// A remote server over Streamable HTTP through corral (remote-suite.mjs).
import { suite } from './remote-suite.mjs';

suite('streamableHttp');
