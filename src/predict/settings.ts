/**
 * The `predict:` section. One knob: the probability at which a disk is `degraded` (the alarm). The
 * shipped model's own cut was chosen at 2.2% false alarms over Backblaze's 2013–2016 fleet mix;
 * where a fleet's drives are healthier or worse than that mix, the same cut alarms less or more
 * (docs/prediction.md), and `harbinger evaluate --alarm-probability` measures another cut first.
 */
import { MODEL, withAlarmProbability, type Model } from './model.js';

export const PREDICT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    alarm_probability: {
      type: 'number',
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description: 'a probability between 0 and 1',
      $comment: "failure probability (30 days) at which a disk is degraded; the default is the shipped model's own cut",
      default: MODEL.operatingPoint.degraded,
    },
  },
} as const;

export interface PredictSettings {
  alarmProbability: number;
}

export function toPredictSettings(raw: { alarm_probability: number }): PredictSettings {
  return { alarmProbability: raw.alarm_probability };
}

/** The shipped model with the configured alarm. */
export function modelFor(settings: PredictSettings): Model {
  return withAlarmProbability(MODEL, settings.alarmProbability);
}
