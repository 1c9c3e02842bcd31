import { createAssociateHandler } from '../service/associate.ts';
import { lambdaDependencies, withPowertools } from './lambda-runtime.ts';

export const handler = withPowertools(createAssociateHandler(lambdaDependencies()));
