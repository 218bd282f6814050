import './scalars.ts';
import './viewer.ts';
