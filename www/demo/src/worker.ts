// The demo's engine worker: the hearth-llm wasm engine answering the page's requests.
import { serveWorker } from 'hearth-llm/worker';

serveWorker();
