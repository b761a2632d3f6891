/**
 * `kdrec teacher train` and `kdrec teacher score`: the two halves of two-stage distillation's first
 * stage. `teacher train` trains only the config's teacher, on exposure samples. `teacher score`
 * writes that teacher's logits for the student's sample set (recall samples: clicks plus random
 * catalogue negatives the teacher never saw as exposures), and reports the teacher's AUC and
 * calibration on the validation split's samples as a selection-bias diagnostic: the teacher learnt
 * from what the logging policy chose to show, and is now asked to label the whole catalogue.
 */
import type { Command } from 'commander';
export declare function register(program: Command): void;
