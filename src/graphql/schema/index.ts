import './scalars.ts';
import './viewer.ts';
import './queues.ts';
import './jobs.ts';
import './schedules.ts';
import './admin.ts';
import './events.ts';
import './work.ts';
