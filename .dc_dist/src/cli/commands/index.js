import * as bench from './bench.js';
import * as data from './data.js';
import * as doctor from './doctor.js';
import * as simulate from './simulate.js';
import * as teacher from './teacher.js';
import * as train from './train.js';
export const commandModules = [bench, data, doctor, simulate, train, teacher];
//# sourceMappingURL=index.js.map