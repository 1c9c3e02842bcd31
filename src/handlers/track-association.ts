import { createTrackHandler } from '../service/track.ts';
import { lambdaDependencies, withPowertools } from './lambda-runtime.ts';

export const handler = withPowertools(createTrackHandler(lambdaDependencies()));
